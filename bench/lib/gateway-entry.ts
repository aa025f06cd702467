/**
 * What the bench process needs of the p2p node to host the gateway. Bundled with the children
 * (bench/lib/build.ts), so the gateway runs the code a deployment runs, as the workers do: through
 * tsx, every function expression the gateway creates per task also paid for tsx's `keepNames`
 * helper (1.5 % of the gateway's time in a burst).
 */
export { P2PNode } from '../../src/node.ts'
export { createLogger } from '../../src/logger.ts'
