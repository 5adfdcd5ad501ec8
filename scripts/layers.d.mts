// Types of scripts/layers.mjs, for tests/unit/architecture.test.ts.
export interface Layer {
  readonly name: string;
  readonly paths: readonly string[];
}
export declare const LAYERS: readonly Layer[];
export declare function layerOf(path: string): { rank: number; name: string } | undefined;
export declare function layerOfImport(
  srcDir: string,
  fromFile: string,
  specifier: string,
): { rank: number; name: string } | undefined;
export declare function upwardImport(
  srcDir: string,
  fromFile: string,
  specifier: string,
): string | undefined;
export declare function sourceFiles(dir: string): string[];
export declare function importsOf(
  file: string,
): Array<{ specifier: string; typeOnly: boolean; resolved: string | undefined }>;
export declare function layersRule(srcDir: string): unknown;
