declare module "async-exit-hook" {
  const exitHook: {
    /** Removes the handler the module installed for a process event or signal. */
    unhookEvent(event: string): void;
  };
  export default exitHook;
}
