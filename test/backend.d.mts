// Types of backend.mjs for the TypeScript tests.
export declare const BACKEND: 'user' | 'kernel';
export declare const ON_KERNEL: boolean;
export declare const SCALE: number;
export declare function scaled(n: number, min?: number): number;
export declare function perBackend<T>(byBackend: { user: T; kernel: T }): T;
export declare const TIMEOUT_SCALE: number;
export declare function timeout(ms: number): number;
