/** Entry of the bundled build (dist/asya.mjs), which production images run without tsx. */
import { main } from './main.ts';

await main(process.argv.slice(2));
