/** Strings whose YAML style js-yaml decides with care: the KRM wire's writer and reader are tested on them. */
export const AWKWARD_STRINGS: readonly string[] = [
  '', ' ', 'plain', 'yes', 'No', 'ON', 'off', 'y', 'n', 'true', 'False', 'null', '~', 'NULL',
  '1', '-1', '0x1F', '0o17', '0b101', '1_000', '1.5', '1e3', '.inf', '-.Inf', '.nan', '1:30', '190:20:30',
  '2001-12-14', '2001-12-14t21:59:43.10-05:00', ' leading', 'trailing ', 'a: b', 'a:b', '- item', '-', '? q',
  '#comment', 'a #b', 'a# b', "it's", '"quoted"', '@at', '`tick', '%pct', '!tag', '&anchor', '*alias', '[x]', '{y}',
  'a, b', '|', '>', 'tab\there', 'unicode ✓ é', 'emoji 😀', 'bell\u0007', 'nul\u0000', 'bom\ufeff', 'line\u2028sep',
  'multi\nline', 'multi\nline\n', 'multi\nline\n\n', '\nleading newline', ' indented\nnext', 'a\n\n\nb', 'trailing space \nx',
  'x'.repeat(2000), `${'y '.repeat(600)}\nz`,
];
