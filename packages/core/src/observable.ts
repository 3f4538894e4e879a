/**
 * `Symbol.observable`, the key Observable libraries (RxJS `from()`, zen-observable, Redux) look
 * for. Node does not define it, so it is defined here once, as the common ponyfill does, and
 * reused if anything defined it first. Observables of etcdkit also answer to '@@observable'.
 */
const holder = Symbol as unknown as { observable?: symbol };
if (typeof holder.observable !== 'symbol')
  Object.defineProperty(Symbol, 'observable', { value: Symbol.for('observable'), configurable: true });

export const symbolObservable: symbol = holder.observable!;

declare global {
  interface SymbolConstructor {
    readonly observable: symbol;
  }
}
