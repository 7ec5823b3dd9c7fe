// A module resolve hook (node:module register) that reports every resolved URL to the main thread over
// the port it is given, so a fixture can tell which packages an import loaded, ESM ones included.
let port
export async function initialize (data) { port = data.port }
export async function resolve (specifier, context, next) {
  const result = await next(specifier, context)
  port.postMessage(result.url)
  return result
}
