/**
 * The Python runtime's own pytest suite, each pytest test counted as one test of the project's single test
 * command (test/support/pytest.ts).
 */
import { pytestSuite } from '../../test/support/pytest.ts';

await pytestSuite('runtime/python/tests');
