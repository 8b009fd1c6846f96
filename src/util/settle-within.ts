/**
 * Settles like `work`, or with `onTimeout()` (its value, or what it throws)
 * if `work` has not settled within `ms`. The work itself goes on either way.
 * `unref` lets a pending timer not keep the process alive.
 */
export function settleWithin<T, U>(work: Promise<T>, ms: number, onTimeout: () => U, unref = false): Promise<T | U> {
  return new Promise<T | U>((resolve, reject) => {
    const timer = setTimeout(() => {
      try {
        resolve(onTimeout());
      } catch (error) {
        reject(error);
      }
    }, Math.max(0, ms));
    if (unref) timer.unref();
    work.then(
      (value) => {
        clearTimeout(timer);
        resolve(value);
      },
      (error: unknown) => {
        clearTimeout(timer);
        reject(error);
      },
    );
  });
}
