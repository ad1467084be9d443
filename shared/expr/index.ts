/** Filter/selection expressions: model, text form, SQL, checking and a reference evaluator. */
export type { ColumnRef, CompareOp, Expr, Literal } from './ast';
export { ExprError, ExprSyntaxError, type ExprErrorCode } from './errors';
export { parseExpr } from './parse';
export { formatExpr, formatColumn, formatLiteral } from './format';
export { toSQL, quoteIdent, type SqlDialect, type SqlSchema, type CompiledSql, type SqlParamType } from './sql';
export {
  checkExpr, problemMessages, closestName, unknownColumnMessage, andAll, orAll, columnsOf, evalExprOnRow, evalExpr3, compareCell,
  type ExprProblem, type SchemaLike, type Truth,
} from './bind';
export { col, lit } from './literal';
export { polygonEdges, pointInPolygon, type PolygonEdge } from './polygon';
