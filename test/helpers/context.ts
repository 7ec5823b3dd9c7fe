/** What a helper needs of a tap test: somewhere to put its cleanup (a tap `Test` is one). */
export interface TestContext { teardown: (fn: () => unknown) => void }
