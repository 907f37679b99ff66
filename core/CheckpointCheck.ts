/**
 * Checks of a loaded {@link Checkpoint}, shared by the checkpoint stores and the engine: {@link decode} reads a saved
 * one and says what is wrong with a damaged one; {@link checkBelongs} refuses one saved for another table or stream.
 *
 * @module
 */
import { Either } from "effect"
import * as Checkpoint from "./Checkpoint.ts"
import { CheckpointInvalid } from "./Errors.ts"
import { firstIssue } from "./internal/firstIssue.ts"

/**
 * A checkpoint from the text a store saved. A damaged or unknown one is a {@link CheckpointInvalid} of `store` that
 * says where it is wrong (a JSON path) and what to do.
 */
export const decode = (text: string, store: string): Either.Either<Checkpoint.Checkpoint, CheckpointInvalid> =>
  Either.mapBoth(Checkpoint.decode(text), {
    onLeft: (error) =>
      new CheckpointInvalid({
        store,
        reason: `it is damaged or not a backstream checkpoint (${firstIssue(error)}); restore it from a backup, or `
          + `delete it to start again with a new backfill`
      }),
    onRight: ({ version: _, ...checkpoint }) => checkpoint
  })

/**
 * The checkpoint when it was saved for `tableArn` and `streamArn`, else a {@link CheckpointInvalid} of `store` that
 * says whose it is and what to do: a checkpoint of another table is never used, and a position in a stream that has
 * been replaced (streams disabled and enabled again start a new stream) means nothing in the new one.
 */
export const checkBelongs = (
  checkpoint: Checkpoint.Checkpoint,
  tableArn: string,
  streamArn: string,
  store: string
): Either.Either<Checkpoint.Checkpoint, CheckpointInvalid> => {
  if (checkpoint.tableArn !== tableArn) {
    return Either.left(
      new CheckpointInvalid({
        store,
        reason: `it belongs to table ${checkpoint.tableArn}, not to ${tableArn}: give each table its own checkpoint, `
          + `or delete this one to replicate ${tableArn} from a new backfill`
      })
    )
  }
  if (checkpoint.streamArn !== streamArn) {
    return Either.left(
      new CheckpointInvalid({
        store,
        reason: `it was saved for stream ${checkpoint.streamArn}, but the table's stream is now ${streamArn} (the `
          + `stream was disabled and enabled again, which starts a new stream): positions in the old stream mean `
          + `nothing in the new one; delete the checkpoint and start again with a new backfill`
      })
    )
  }
  return Either.right(checkpoint)
}
