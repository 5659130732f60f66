// A linearizability checker for histories of a key-value map (after Wing and
// Gong, with Lowe's memoization): each key is an independent register, so each
// key's history is checked on its own. An operation's interval is
// [invoked, returned] on a clock that all threads share (an atomic counter), so
// an operation that returned before another was invoked must take effect first.

export type Operation =
  | { kind: 'set'; key: number; value: number; invoked: number; returned: number }
  | { kind: 'get'; key: number; result: number | undefined; invoked: number; returned: number }
  | { kind: 'delete'; key: number; result: boolean; invoked: number; returned: number };

type State = number | undefined;

/** The state after `op` from `state`, or null if `op`'s result is impossible there. */
function apply(op: Operation, state: State): { next: State } | null {
  switch (op.kind) {
    case 'set':
      return { next: op.value };
    case 'get':
      return op.result === state ? { next: state } : null;
    case 'delete':
      return op.result === (state !== undefined) ? { next: undefined } : null;
  }
}

/** Whether one key's operations have a linearization from the empty state. */
function registerIsLinearizable(ops: Operation[]): boolean {
  const seen = new Set<string>();
  const bit = (i: number) => 1n << BigInt(i);
  const search = (remaining: bigint, state: State): boolean => {
    if (remaining === 0n) return true;
    const memo = `${remaining}:${state}`;
    if (seen.has(memo)) return false;
    seen.add(memo);
    // Candidates: operations invoked before every remaining operation returned.
    let firstReturn = Infinity;
    for (let i = 0; i < ops.length; i++) if (remaining & bit(i)) firstReturn = Math.min(firstReturn, ops[i].returned);
    for (let i = 0; i < ops.length; i++) {
      if (!(remaining & bit(i)) || ops[i].invoked > firstReturn) continue;
      const step = apply(ops[i], state);
      if (step && search(remaining & ~bit(i), step.next)) return true;
    }
    return false;
  };
  return search(bit(ops.length) - 1n, undefined);
}

/** The keys whose histories have no linearization (empty when the whole history is linearizable). */
export function nonLinearizableKeys(history: Operation[]): number[] {
  const byKey = new Map<number, Operation[]>();
  for (const op of history) byKey.set(op.key, [...(byKey.get(op.key) ?? []), op]);
  return [...byKey].filter(([, ops]) => !registerIsLinearizable(ops)).map(([key]) => key);
}
