import { Effect, ExecutionStrategy, Exit, Scope, Stream } from "effect"

/**
 * Streams `items` in order, one at a time: when an item's turn comes, `consume` makes its stream from what `open` gave
 * for it. `open` runs ahead, on up to `concurrency - 1` items beyond the one being consumed (give or take one), so that
 * the latency of opening (a request's round trip) hides behind the reading of earlier items. Only what `open` returns
 * waits (say, a response whose body is not read yet), never what `consume` makes of it: the streams themselves run
 * one after another, so the memory they use, and the garbage they make, is that of one.
 *
 * Resources `open` acquires (with `Effect.acquireRelease`) are released when the item's stream ends, or when the
 * whole stream ends, fails or is interrupted; errors come in order, after the items before them.
 */
export const openAhead = <A, B, E, R, C, E2, R2>(
  items: ReadonlyArray<A>,
  concurrency: number,
  open: (item: A) => Effect.Effect<B, E, R>,
  consume: (opened: B, item: A) => Stream.Stream<C, E2, R2>
): Stream.Stream<C, E | E2, Exclude<R, Scope.Scope> | R2> =>
  Stream.unwrapScoped(Effect.map(Effect.scope, (scope) => {
    const opened = Stream.fromIterable(items).pipe(
      Stream.mapEffect((item) =>
        Effect.flatMap(Scope.fork(scope, ExecutionStrategy.sequential), (itemScope) =>
          Effect.map(Scope.extend(open(item), itemScope), (b) => ({ b, item, itemScope })))
      )
    )
    return (concurrency > 1 ? Stream.buffer(opened, { capacity: Math.max(1, concurrency - 2) }) : opened).pipe(
      Stream.flatMap(({ b, item, itemScope }) =>
        consume(b, item).pipe(Stream.ensuring(Scope.close(itemScope, Exit.void)))
      )
    )
  }))
