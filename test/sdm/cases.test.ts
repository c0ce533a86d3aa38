// The reference model against the manual-derived case table: the oracle is itself checked.
// The fast walker gets the same table with one line: runCaseTable(() => itsWalkUnderTest()).

import { runCaseTable } from './run.js';
import { refUnderTest } from './harness.js';

runCaseTable(refUnderTest);
