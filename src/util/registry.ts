/** A named collection (losses, models, datasets): configs and CLI flags may only name registered keys. */
export interface Registry<T> {
  register(name: string, value: T): void;
  get(name: string): T;
  has(name: string): boolean;
  names(): string[];
}

/** `kind` names what the registry holds, for errors like `unknown model "x"; expected one of a, b`. */
export function createRegistry<T>(kind: string): Registry<T> {
  const items = new Map<string, T>();
  return {
    register(name, value) {
      if (items.has(name)) throw new Error(`${kind} "${name}" is already registered`);
      items.set(name, value);
    },
    get(name) {
      const v = items.get(name);
      if (v === undefined) throw new UsageError(`unknown ${kind} "${name}"; expected one of ${[...items.keys()].join(', ')}`);
      return v;
    },
    has: (name) => items.has(name),
    names: () => [...items.keys()],
  };
}

/** A user mistake (bad flag, bad file): the CLI prints its message on one line and exits with 2. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}
