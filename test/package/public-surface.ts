/**
 * The types that the package's exported declarations name but its entry points do not export: a
 * consumer cannot write them, and TypeScript cannot emit a consumer's declarations that need them
 * (TS2742/TS4023 "cannot be named"). Reads the built declarations (dist/lib); members marked @internal
 * and private members are not part of the surface, nor the members of `opaque` exports (internals
 * exported as types only, so that the signatures naming them can be written).
 */
import ts from 'typescript'

export function unnameableTypes (entries: string[], opaque: string[] = []): string[] {
  const program = ts.createProgram(entries, { noEmit: true, module: ts.ModuleKind.NodeNext, moduleResolution: ts.ModuleResolutionKind.NodeNext, skipLibCheck: true })
  const checker = program.getTypeChecker()
  const exported = new Set<ts.Symbol>()
  const surface: ts.Declaration[] = []
  for (const entry of entries) {
    const moduleSymbol = checker.getSymbolAtLocation(program.getSourceFile(entry)!)!
    for (const symbol of checker.getExportsOfModule(moduleSymbol)) {
      const target = symbol.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(symbol) : symbol
      exported.add(target)
      if (!opaque.includes(symbol.name)) surface.push(...(target.declarations ?? []))
    }
  }
  const missing = new Set<string>()
  const isInternal = (node: ts.Node): boolean => ts.getJSDocTags(node).some((tag) => tag.tagName.text === 'internal') ||
    (ts.canHaveModifiers(node) && (ts.getModifiers(node) ?? []).some((modifier) => modifier.kind === ts.SyntaxKind.PrivateKeyword))
  const visit = (node: ts.Node, where: string): void => {
    if (isInternal(node) || ts.isPrivateIdentifier((node as ts.NamedDeclaration).name ?? node)) return
    let name: ts.Node | undefined
    if (ts.isTypeReferenceNode(node)) name = node.typeName
    else if (ts.isExpressionWithTypeArguments(node)) name = node.expression
    else if (ts.isTypeQueryNode(node)) name = node.exprName
    if (name !== undefined) {
      let symbol = checker.getSymbolAtLocation(ts.isQualifiedName(name) ? name.right : name)
      if (symbol !== undefined && symbol.flags & ts.SymbolFlags.Alias) symbol = checker.getAliasedSymbol(symbol)
      const declaration = symbol?.declarations?.[0]
      const file = declaration?.getSourceFile().fileName ?? ''
      const ours = file.includes('/dist/lib/') && !(symbol!.flags & ts.SymbolFlags.TypeParameter)
      if (ours && !exported.has(symbol!) && !ts.isTypeParameterDeclaration(declaration!)) missing.add(`${symbol!.name} (in ${where})`)
    }
    ts.forEachChild(node, (child) => visit(child, where))
  }
  for (const declaration of surface) {
    const name = (declaration as ts.NamedDeclaration).name?.getText() ?? '?'
    visit(declaration, name)
  }
  return [...missing].sort()
}
