// TypeScript declarations of Tessera's client kit, served as /tessera.d.ts beside /tessera.js:
// written by hand from kit.js's JSDoc (web/test/kit.mjs checks that they name every export
// and every method of Tessera). A URL import needs a `paths` entry or a `declare module`
// (docs/clients.md).

/** The longest formula a server accepts by default, in UTF-8 bytes (a connection checks its server's, config.formula_max_bytes). */
export declare const MAX_FORMULA: number;
/** The longest layers binding accepted, in UTF-8 bytes (the server's limit on a query parameter, 8192). */
export declare const MAX_LAYERS: number;
/** The deepest zoom a server answers by default (a connection checks its server's, config.max_zoom). */
export declare const MAX_ZOOM: number;

/** An error of Tessera: the server's JSON error or a render's, with its formula span if any. */
export declare class TesseraError extends Error {
  constructor(message: string, detail?: { status?: number; pos?: [number, number]; snippet?: string });
  name: 'TesseraError';
  /** The HTTP status of a server's error. */
  status?: number;
  /** A formula error's span, [start, end] in UTF-8 bytes of the formula. */
  pos?: [number, number];
  /** The formula's line with a caret under the span. */
  snippet?: string;
}

/** A colormap: a name ('RdYlGn'), JSON, or an object, as the server's colormap=. */
export type Colormap = string | Record<string, unknown>;

/** The algebra parameters of a tile. */
export interface Params {
  /** The binding, e.g. 'r:2=scene,n:3=scene' (variable:band=layer, band 0-based). */
  layers: string;
  formula?: string;
  colormap?: Colormap;
  /** A continuous colormap's range, [min, max]. */
  range?: [number, number];
  /** RGB mode's (no formula) scale, [min, max]. */
  scale?: [number, number];
  /** The keys of a discrete colormap to show. */
  entries?: string[];
  alpha?: boolean;
  enhance?: { color?: number; contrast?: number; brightness?: number; sharpness?: number };
  /** The canvas of a tile without data (default: the server's config.tile_size). */
  tileSize?: number;
}

export interface ConnectOptions {
  /** A bearer token, for a server with TESSERA_PRIVATE_READS. */
  token?: string;
  /** The core's URL (default: tessera.wasm beside tessera.js). */
  wasm?: string | URL;
  /** Raw tiles kept for re-rendering (256; at most 4096). */
  cacheTiles?: number;
  /** Their bytes at most (1/16 of navigator.deviceMemory between 32 and 256 MiB; 256 MiB without it; 1 GiB at most). */
  cacheBytes?: number;
  /** The largest raw tile accepted (64 MiB, the most). */
  maxTileBytes?: number;
}

/** A server's settings, its GET config (docs/api.md): connect() reads them once per page and server. */
export interface ServerConfig {
  private_reads: boolean;
  /** Its tiles' pixels a side (RASTER_TILESIZE): the size of an empty tile. */
  tile_size: number;
  /** The deepest zoom of a tile address. */
  max_zoom: number;
  export_max_pixels: number;
  export_max_zoom: number;
  stats_max_tiles: number;
  /** The longest formula, in UTF-8 bytes. */
  formula_max_bytes: number;
  /** The most variables of a layers binding. */
  max_variables: number;
  /** What an @2x or @4x tile may hold while it is made, in bytes (tiles.MaxScaledBytes). */
  scaled_tile_max_bytes: number;
  ingest_max_zoom: number;
  upload_max_bytes: number;
}

/** A render's pixels, or a render's error. */
export type RenderResult =
  | { width: number; height: number; rgba: Uint8ClampedArray; counts: Record<string, number> | null; error?: undefined }
  | { error: string; pos?: [number, number]; snippet?: string };

/** A canvas the kit rendered, with a discrete colormap's pixel count per key. */
export type TileCanvas = (HTMLCanvasElement | OffscreenCanvas) & { counts?: Record<string, number> | null };

/** An OpenLayers tile loader of the kit: set(params) changes the params of the tiles it loads. */
export interface OpenLayersLoader {
  (z: number, x: number, y: number, options?: { signal?: AbortSignal }): Promise<TileCanvas>;
  set(params: Partial<Params>): OpenLayersLoader;
  readonly params: Params;
}

/** Methods the kit adds to the map library's layer or source. */
export interface ParamsSetter<T> {
  setParams(params: Partial<Params>): T;
  setFormula(formula: string): T;
  setColormap(colormap: Colormap): T;
  getParams(): Params;
}

/** MapLibre GL's addProtocol handler. */
export type MapLibreProtocol = (
  request: { url: string },
  abortController: AbortController,
) => Promise<{ data: ArrayBuffer }>;

/** A connection to one server; errors also come as `error` events, once per message per params. */
export declare class Tessera extends EventTarget {
  constructor(base: string | URL, api: object, options?: ConnectOptions, config?: Partial<ServerConfig>);
  /** The raster routes' URL, ending in '/'. */
  readonly base: string;
  /** The server's settings (GET config), whose limits the kit checks. */
  readonly config: Readonly<ServerConfig>;
  /** Requests for raw tiles and renders so far. */
  readonly stats: { bandFetches: number; renders: number };
  /** Tile z/x/y rendered in the browser; rejects with a TesseraError (or an AbortError). */
  tile(z: number, x: number, y: number, params: Params, init?: { signal?: AbortSignal }): Promise<TileCanvas>;
  /** Renders a .msgpack raw tile's bytes. */
  render(bytes: Uint8Array, formula: string, colormap: string, options?: Omit<Params, 'layers' | 'formula' | 'colormap' | 'tileSize'>): RenderResult;
  /** Throws a TesseraError when params are not a valid algebra request. */
  check(params: Params): void;
  /** Sends err as an `error` event and returns it. */
  fail(err: TesseraError): TesseraError;
  /** A Leaflet GridLayer for the page's Leaflet L; options are Params and GridLayer options. */
  leafletLayer<L = any>(L: any, options: Params & Record<string, unknown>): L & ParamsSetter<L>;
  /** A loader for new ol.source.ImageTile({loader}). */
  openlayersLoader(params: Params): OpenLayersLoader;
  /** An ol.source.ImageTile whose setParams re-renders in place; ol is the ol namespace or the ImageTile class. */
  openlayersSource<S = any>(ol: any, params: Params, options?: Record<string, unknown>): S & ParamsSetter<S>;
  /** A handler for maplibregl.addProtocol('tessera', …), tiles 'tessera://{z}/{x}/{y}?formula=…'. */
  maplibreProtocol(params: Params): MapLibreProtocol;
  addEventListener(type: 'error', listener: (event: CustomEvent<TesseraError>) => void, options?: boolean | AddEventListenerOptions): void;
  addEventListener(type: string, listener: EventListenerOrEventListenerObject | null, options?: boolean | AddEventListenerOptions): void;
}

/** Connects to a Tessera server's raster routes, loading the WebAssembly core once per page and the server's GET config once per page and server. */
export declare function connect(base: string | URL, options?: ConnectOptions): Promise<Tessera>;
