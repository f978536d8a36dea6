/** A point of a trade-off: `cost` to be small (or large, see `paretoFront`), `value` to be large. */
export interface TradeOff {
  readonly cost: number;
  readonly value: number;
}

/**
 * Indices of the points no other point beats: none has a cost at least as good and a value at
 * least as high, with one of the two strictly better. `lowerCost` false treats a larger cost
 * (e.g. images/s) as better.
 * @example paretoFront([{cost: 1, value: 0.9}, {cost: 2, value: 0.8}]) // [0]
 */
export function paretoFront(points: readonly TradeOff[], lowerCost = true): number[] {
  const better = (a: number, b: number) => (lowerCost ? a < b : a > b);
  const front: number[] = [];
  points.forEach((p, i) => {
    const dominated = points.some((q, j) => j !== i &&
      !better(p.cost, q.cost) && q.value >= p.value && (better(q.cost, p.cost) || q.value > p.value));
    if (!dominated) front.push(i);
  });
  return front;
}
