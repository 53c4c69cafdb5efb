/**
 * `asya synth` as a process of its own (`node --import tsx charts-ts/synth-entry.ts --out dist`), for the
 * process test and for running the charts without the rest of the CLI. `asya synth` calls the same runSynth.
 */
import { runSynth } from '../cli/synth.ts';

process.exitCode = await runSynth(process.argv.slice(2));
