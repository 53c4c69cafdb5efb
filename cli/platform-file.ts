/** The platform settings file (`--platform`) of `asya synth` and `asya render`: one AsyaPlatform or ConfigMap. */
import { readFileSync } from 'node:fs';
import YAML from 'yaml';
import { PlatformOptionsError } from '../charts-ts/options.ts';
import { errorText } from '../protocol/errors.ts';

/** The file's one document, as the KRM functions take it for their functionConfig. */
export function readPlatformDocument(path: string): unknown {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new PlatformOptionsError(`${path}: cannot read the platform settings: ${errorText(err)}`);
  }
  const parsed = YAML.parseAllDocuments(text);
  const broken = parsed.find((d) => d.errors.length > 0);
  if (broken) throw new PlatformOptionsError(`${path}: not valid YAML: ${broken.errors[0]!.message.split('\n')[0]}`);
  const documents = parsed.map((d) => d.toJS() as unknown).filter((d) => d != null);
  if (documents.length !== 1) throw new PlatformOptionsError(`${path}: expected one AsyaPlatform or ConfigMap document, found ${documents.length}`);
  return documents[0];
}
