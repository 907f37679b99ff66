/**
 * Writes to standard output with back-pressure: the effect completes once the text is handed to the OS or, when the
 * pipe is full, once it drains.
 */
import { Effect } from "effect"

export const write = (text: string): Effect.Effect<void> =>
  Effect.async<void>((resume) => {
    if (process.stdout.write(text)) resume(Effect.void)
    else process.stdout.once("drain", () => resume(Effect.void))
  })
