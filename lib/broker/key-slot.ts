/**
 * The Redis Cluster hash slot of a key or shard channel: CRC16 (XMODEM) of its hash tag - the part
 * between the first `{` and the next `}` when that part is not empty - modulo 16384.
 * Spec: https://redis.io/docs/latest/operate/oss_and_stack/reference/cluster-spec/#key-distribution-model
 *
 * Computed by cluster-key-slot, the implementation ioredis itself routes commands with: the slot the
 * broker groups SSUBSCRIBEs by is then the one ioredis sends them to.
 */
import calculateSlot from 'cluster-key-slot'

export function keySlot (key: string): number {
  return calculateSlot(key)
}
