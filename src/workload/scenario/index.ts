// The scenario language's public face: load or parse a file, evaluate its address expressions.
export { loadScenarioFile, parseScenario } from './parse.js';
export { ScenarioError, formatPath, type FieldPath, type SourceLoc } from './errors.js';
export { evalExpr, exprNames, parseExpr, ExprSyntaxError, UnknownNameError, type Expr, type ExprTerm, type NameLookup } from './expr.js';
export { formatPteFlag, type PteFlag, type PteFlagName } from './values.js';
export { MACHINE_OPS, OPS, PROCESS_OPS, isProcessOp } from './schema.js';
export type * from './schema.js';
