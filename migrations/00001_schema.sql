-- Tessera's first schema: layers and what the parser learns about them, legends, session
-- colormaps, write tokens, and the tiles themselves as PostGIS rasters.
--
-- Why it differs from django-raster's tables: tiles carry a parse version, so a re-parse
-- writes a new set beside the served one and swaps in one transaction (django-raster deleted
-- the old tiles first, leaving the layer blank or half-built while it parsed).

-- +goose Up
CREATE EXTENSION IF NOT EXISTS postgis;
CREATE EXTENSION IF NOT EXISTS postgis_raster;

CREATE TABLE legend_semantics (
    id          bigserial PRIMARY KEY,
    name        text NOT NULL UNIQUE CHECK (name <> '' AND length(name) <= 256),
    description text NOT NULL DEFAULT '' CHECK (length(description) <= 4096)
);

CREATE TABLE legends (
    id          bigserial PRIMARY KEY,
    title       text NOT NULL CHECK (title <> '' AND length(title) <= 256),
    description text NOT NULL DEFAULT '' CHECK (length(description) <= 4096),
    created     timestamptz NOT NULL DEFAULT now(),
    updated     timestamptz NOT NULL DEFAULT now()
);
-- Titles are looked up case-insensitively (?legend=Landcover), so they are unique that way.
CREATE UNIQUE INDEX legends_title_key ON legends (lower(title));

CREATE TABLE legend_entries (
    id           bigserial PRIMARY KEY,
    legend_id    bigint NOT NULL REFERENCES legends (id) ON DELETE CASCADE,
    position     int NOT NULL,
    semantics_id bigint NOT NULL REFERENCES legend_semantics (id),
    expression   text NOT NULL CHECK (length(expression) <= 4096),
    color        text NOT NULL CHECK (length(color) <= 64),
    code         text NOT NULL DEFAULT '' CHECK (length(code) <= 64),
    UNIQUE (legend_id, position)
);
CREATE INDEX legend_entries_semantics ON legend_entries (semantics_id);

CREATE TABLE layers (
    id                bigserial PRIMARY KEY,
    name              text NOT NULL UNIQUE CHECK (name <> '' AND length(name) <= 256),
    description       text NOT NULL DEFAULT '' CHECK (length(description) <= 4096),
    datatype          text NOT NULL DEFAULT 'co' CHECK (datatype IN ('co', 'ca', 'ma', 'ro')),
    source            text NOT NULL DEFAULT '' CHECK (length(source) <= 4096),
    srid              int CHECK (srid > 0),
    nodata            float8,
    max_zoom          int CHECK (max_zoom BETWEEN 0 AND 30),
    next_higher       boolean NOT NULL DEFAULT true,
    build_pyramid     boolean NOT NULL DEFAULT true,
    store_reprojected boolean NOT NULL DEFAULT true,
    reprojected_path  text CHECK (length(reprojected_path) <= 4096),
    legend_id         bigint REFERENCES legends (id) ON DELETE SET NULL,
    -- The parse version whose tiles are served (0: none yet).
    version           bigint NOT NULL DEFAULT 0 CHECK (version >= 0),
    -- The latest parse begun (equal to version once it is published).
    parse_version     bigint NOT NULL DEFAULT 0 CHECK (parse_version >= version),
    created           timestamptz NOT NULL DEFAULT now(),
    updated           timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX layers_legend ON layers (legend_id);

CREATE TABLE layer_metadata (
    layer_id   bigint PRIMARY KEY REFERENCES layers (id) ON DELETE CASCADE,
    origin_x   float8 NOT NULL,
    origin_y   float8 NOT NULL,
    scale_x    float8 NOT NULL,
    scale_y    float8 NOT NULL,
    skew_x     float8 NOT NULL DEFAULT 0,
    skew_y     float8 NOT NULL DEFAULT 0,
    width      int NOT NULL CHECK (width >= 0),
    height     int NOT NULL CHECK (height >= 0),
    band_count int NOT NULL CHECK (band_count >= 0),
    srid       int NOT NULL DEFAULT 0,
    wkt        text NOT NULL DEFAULT '',
    max_zoom   int NOT NULL CHECK (max_zoom BETWEEN 0 AND 30),
    -- The layer's extent in EPSG:3857.
    extent_min_x float8 NOT NULL,
    extent_min_y float8 NOT NULL,
    extent_max_x float8 NOT NULL,
    extent_max_y float8 NOT NULL,
    updated    timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE band_metadata (
    layer_id  bigint NOT NULL REFERENCES layers (id) ON DELETE CASCADE,
    band      int NOT NULL CHECK (band >= 0),
    type      text NOT NULL,
    nodata    float8,
    count     bigint NOT NULL DEFAULT 0,
    min       float8,
    max       float8,
    mean      float8,
    std       float8,
    hist      bigint[] NOT NULL DEFAULT '{}',
    hist_bins float8[] NOT NULL DEFAULT '{}',
    PRIMARY KEY (layer_id, band)
);

CREATE TABLE parse_status (
    layer_id       bigint PRIMARY KEY REFERENCES layers (id) ON DELETE CASCADE,
    status         smallint NOT NULL DEFAULT 0 CHECK (status BETWEEN 0 AND 6),
    log            text[] NOT NULL DEFAULT '{}',
    finished_zooms int[] NOT NULL DEFAULT '{}',
    tiles_done     bigint NOT NULL DEFAULT 0,
    tiles_total    bigint NOT NULL DEFAULT 0,
    updated        timestamptz NOT NULL DEFAULT now()
);

-- Colormaps a browser session saved under a key (django-raster's set_session_colormap).
-- json, not jsonb: a discrete colormap's key order matters (later keys win), and jsonb
-- would re-order the keys.
CREATE TABLE session_colormaps (
    session  text NOT NULL CHECK (length(session) BETWEEN 1 AND 256),
    key      text NOT NULL CHECK (length(key) BETWEEN 1 AND 256),
    colormap json NOT NULL,
    updated  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (session, key)
);

-- Write tokens, kept only as SHA-256 hashes.
CREATE TABLE api_keys (
    token_hash text PRIMARY KEY,
    name       text NOT NULL CHECK (length(name) <= 256),
    created    timestamptz NOT NULL DEFAULT now()
);

-- One row per stored tile: a PostGIS raster in EPSG:3857 holding every band of the layer in
-- its own pixel type with its nodata, so ST_Value, ST_SummaryStats & co. work on it.
CREATE TABLE tiles (
    layer_id bigint NOT NULL REFERENCES layers (id) ON DELETE CASCADE,
    version  bigint NOT NULL CHECK (version > 0),
    z        smallint NOT NULL CHECK (z BETWEEN 0 AND 30),
    x        int NOT NULL CHECK (x >= 0),
    y        int NOT NULL CHECK (y >= 0),
    rast     raster NOT NULL CHECK (ST_SRID(rast) = 3857),
    PRIMARY KEY (layer_id, version, z, x, y)
);

-- +goose Down
DROP TABLE tiles;
DROP TABLE api_keys;
DROP TABLE session_colormaps;
DROP TABLE parse_status;
DROP TABLE band_metadata;
DROP TABLE layer_metadata;
DROP TABLE layers;
DROP TABLE legend_entries;
DROP TABLE legends;
DROP TABLE legend_semantics;
