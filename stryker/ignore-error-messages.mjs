// @ts-check
// A Stryker ignorer: skips the mutants of error *messages* only. A message's wording is not behaviour a
// unit test should pin (the tests check the error's class, code and ConfigError field instead), so an
// emptied message would only be a survivor to explain away. What it skips, precisely: a string or
// template literal passed to `new SomethingError(...)`, except a ConfigError's first argument (the field
// name, which callers read) and a literal that is an error code (`ERR_…`, which callers match on).

/** @param {any} node */
function isStringish(node) {
  return node.type === 'StringLiteral' || node.type === 'TemplateLiteral';
}

/** @param {any} node */
function isErrorCode(node) {
  return node.type === 'StringLiteral' && /^ERR_[A-Z0-9_]+$/.test(node.value);
}

const ignorer = {
  /** @param {any} path */
  shouldIgnore(path) {
    const parent = path.parentPath;
    if (!isStringish(path.node) || parent?.node.type !== 'NewExpression') return undefined;
    const callee = parent.node.callee;
    if (callee.type !== 'Identifier' || !callee.name.endsWith('Error')) return undefined;
    const index = parent.node.arguments.indexOf(path.node);
    if (index < 0 || isErrorCode(path.node)) return undefined;
    if (callee.name === 'ConfigError' && index === 0) return undefined;
    return 'error message (wording is not behaviour; the error class, code and field are tested)';
  },
};

/** The plugin Stryker loads (`plugins` and `ignorers: ['error-message']` in stryker.config.mjs). */
export const strykerPlugins = [{ kind: 'Ignore', name: 'error-message', value: ignorer }];
