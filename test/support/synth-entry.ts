/**
 * `asya synth` as a process of its own (`node --import tsx test/support/synth-entry.ts --out dist`), for the
 * process test (charts-ts/synth-cli.test.ts) without the rest of the CLI. Test support, not production:
 * `asya synth` reaches the same runSynth through cli/bin.ts, and nothing at run time imports this file.
 */
import { runSynth } from '../../cli/synth.ts';

process.exitCode = await runSynth(process.argv.slice(2));
