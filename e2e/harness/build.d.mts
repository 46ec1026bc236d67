export declare const harnessDir: string
export declare const harnessDist: string
export declare function buildHarness(): Promise<string>
