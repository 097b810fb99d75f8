// Types of until.mjs for the TypeScript tests.
export declare function until(cond: () => boolean | Promise<boolean>, ms?: number, what?: string): Promise<void>;
