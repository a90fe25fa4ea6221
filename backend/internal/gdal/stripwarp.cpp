// The strip warper: GDAL's own warp operation, set up as gdalwarp sets it up for the grid
// Warp makes (nearest neighbour, approximate transformer of error 0.125 px, INIT_DEST=NO_DATA,
// SKIP_NOSOURCE, the warp memory and threads), whose chunk plan (GDALWarpOperation's
// private CollectChunkList) gives the column segments each row is warped in. Rows are then
// warped a strip at a time over those same segments: GDAL's kernel transforms each output row
// over its chunk's column segment on its own (the approximate transformer interpolates along
// that segment), so the pixels are the ones one whole warp gives, while the caller can use
// each strip as soon as it is done.
#include <cstring>
#include <string>
#include <vector>
#include <utility>
#include <mutex>
#include "cpl_conv.h"
#include "cpl_error.h"
#include "cpl_string.h"
#include "gdal.h"
#include "gdal_alg.h"
#include "cpl_minixml.h"
#include "cpl_multiproc.h"
#include "ogr_srs_api.h"
// The chunk plan is private to GDALWarpOperation; this reads it (GDAL 3.x layout).
#define private public
#include "gdalwarper.h"
#undef private
#include "stripwarp.h"

struct _GDALWarpChunk {
    int dx, dy, dsx, dsy;
    int sx, sy, ssx, ssy;
    double sExtraSx, sExtraSy;
};

struct TesseraWarp {
    GDALDatasetH src = nullptr;
    GDALDatasetH dst = nullptr;
    GDALWarpOptions *wo = nullptr;
    GDALWarpOperation *op = nullptr;
    std::vector<int> chunks;  // dx, dy, dsx, dsy per chunk
    int bands = 0;
};

static thread_local std::string lastError;

const char *tessera_warp_error(void) { return lastError.c_str(); }

static void fail(const char *what) {
    lastError = what;
    const char *msg = CPLGetLastErrorMsg();
    if (msg && *msg) {
        lastError += ": ";
        lastError += msg;
    }
}

static void destroy(TesseraWarp *w) {
    if (w->op) delete w->op;
    if (w->wo) {
        if (w->wo->pTransformerArg) GDALDestroyApproxTransformer(w->wo->pTransformerArg);
        w->wo->pTransformerArg = nullptr;
        GDALDestroyWarpOptions(w->wo);
    }
    if (w->dst) GDALClose(w->dst);
    if (w->src) GDALClose(w->src);
    delete w;
}

TesseraWarp *tessera_warp_open(const char *srcPath, const char *dstPath, const char *srcSRS, const char *dstSRS,
                               int width, int height, const double *bounds, int blockSize, const double *dstNoData,
                               int threads, double memoryBytes) {
    CPLErrorReset();
    TesseraWarp *w = new TesseraWarp();
    w->src = GDALOpenEx(srcPath, GDAL_OF_RASTER | GDAL_OF_READONLY, nullptr, nullptr, nullptr);
    if (!w->src) {
        fail("open source");
        destroy(w);
        return nullptr;
    }
    w->bands = GDALGetRasterCount(w->src);
    if (w->bands < 1) {
        fail("source has no bands");
        destroy(w);
        return nullptr;
    }
    GDALDataType type = GDALGetRasterDataType(GDALGetRasterBand(w->src, 1));
    // The target as gdalwarp creates it.
    OGRSpatialReferenceH srs = OSRNewSpatialReference(nullptr);
    char *wkt = nullptr;
    if (OSRSetFromUserInput(srs, dstSRS) != OGRERR_NONE || OSRExportToWkt(srs, &wkt) != OGRERR_NONE) {
        OSRDestroySpatialReference(srs);
        fail("target CRS");
        destroy(w);
        return nullptr;
    }
    OSRDestroySpatialReference(srs);
    std::string block = std::to_string(blockSize);
    char **co = nullptr;
    co = CSLSetNameValue(co, "TILED", "YES");
    co = CSLSetNameValue(co, "BLOCKXSIZE", block.c_str());
    co = CSLSetNameValue(co, "BLOCKYSIZE", block.c_str());
    co = CSLSetNameValue(co, "BIGTIFF", "IF_SAFER");
    co = CSLSetNameValue(co, "INTERLEAVE", "BAND");
    w->dst = GDALCreate(GDALGetDriverByName("GTiff"), dstPath, width, height, w->bands, type, co);
    CSLDestroy(co);
    if (!w->dst) {
        CPLFree(wkt);
        fail("create target");
        destroy(w);
        return nullptr;
    }
    // gdalwarp's -te/-ts geotransform.
    double gt[6] = {bounds[0], (bounds[2] - bounds[0]) / width, 0, bounds[3], 0, -(bounds[3] - bounds[1]) / height};
    GDALSetGeoTransform(w->dst, gt);
    GDALSetProjection(w->dst, wkt);
    for (int b = 1; b <= w->bands; b++) {
        GDALSetRasterNoDataValue(GDALGetRasterBand(w->dst, b), dstNoData[b - 1]);
        GDALSetRasterColorInterpretation(GDALGetRasterBand(w->dst, b),
                                         GDALGetRasterColorInterpretation(GDALGetRasterBand(w->src, b)));
    }
    char **to = nullptr;
    if (srcSRS && *srcSRS) to = CSLSetNameValue(to, "SRC_SRS", srcSRS);
    to = CSLSetNameValue(to, "DST_SRS", wkt);
    CPLFree(wkt);
    void *gen = GDALCreateGenImgProjTransformer2(w->src, w->dst, to);
    CSLDestroy(to);
    if (!gen) {
        fail("transformer");
        destroy(w);
        return nullptr;
    }
    void *approx = GDALCreateApproxTransformer(GDALGenImgProjTransform, gen, 0.125);
    GDALApproxTransformerOwnsSubtransformer(approx, TRUE);

    w->wo = GDALCreateWarpOptions();
    w->wo->hSrcDS = w->src;
    w->wo->hDstDS = w->dst;
    w->wo->eResampleAlg = GRA_NearestNeighbour;
    w->wo->dfWarpMemoryLimit = memoryBytes;
    w->wo->pfnTransformer = GDALApproxTransform;
    w->wo->pTransformerArg = approx;
    GDALWarpInitDefaultBandMapping(w->wo, w->bands);
    GDALWarpInitDstNoDataReal(w->wo, 0);
    for (int b = 0; b < w->bands; b++) w->wo->padfDstNoDataReal[b] = dstNoData[b];
    std::string th = std::to_string(threads);
    w->wo->papszWarpOptions = CSLSetNameValue(w->wo->papszWarpOptions, "NUM_THREADS", th.c_str());
    w->wo->papszWarpOptions = CSLSetNameValue(w->wo->papszWarpOptions, "INIT_DEST", "NO_DATA");
    w->wo->papszWarpOptions = CSLSetNameValue(w->wo->papszWarpOptions, "SKIP_NOSOURCE", "YES");
    GDALWarpResolveWorkingDataType(w->wo);
    if (w->wo->eWorkingDataType != type) {
        lastError = "working data type differs from the band type";
        destroy(w);
        return nullptr;
    }
    w->op = new GDALWarpOperation();
    if (w->op->Initialize(w->wo) != CE_None) {
        fail("initialize warp");
        destroy(w);
        return nullptr;
    }
    w->op->CollectChunkList(0, 0, width, height);
    for (int i = 0; i < w->op->nChunkListCount; i++) {
        const GDALWarpChunk &c = w->op->pasChunkList[i];
        w->chunks.push_back(c.dx);
        w->chunks.push_back(c.dy);
        w->chunks.push_back(c.dsx);
        w->chunks.push_back(c.dsy);
    }
    w->op->WipeChunkList();
    return w;
}

int tessera_warp_bands(TesseraWarp *w) { return w->bands; }
GDALDataType tessera_warp_type(TesseraWarp *w) { return w->wo->eWorkingDataType; }
int tessera_warp_nchunks(TesseraWarp *w) { return static_cast<int>(w->chunks.size() / 4); }
void tessera_warp_chunk(TesseraWarp *w, int i, int *dx, int *dy, int *dsx, int *dsy) {
    *dx = w->chunks[4 * i];
    *dy = w->chunks[4 * i + 1];
    *dsx = w->chunks[4 * i + 2];
    *dsy = w->chunks[4 * i + 3];
}

void *tessera_warp_region(TesseraWarp *w, int dx, int dy, int dsx, int dsy) {
    CPLErrorReset();
    int init = FALSE;
    void *buf = w->op->CreateDestinationBuffer(dsx, dsy, &init);
    if (!buf) {
        fail("warp buffer");
        return nullptr;
    }
    if (w->op->WarpRegionToBuffer(dx, dy, dsx, dsy, buf, w->wo->eWorkingDataType) != CE_None) {
        GDALWarpOperation::DestroyDestinationBuffer(buf);
        fail("warp");
        return nullptr;
    }
    return buf;
}

void tessera_warp_free_buffer(void *buf) { GDALWarpOperation::DestroyDestinationBuffer(buf); }

int tessera_warp_write(TesseraWarp *w, int band, int y, int width, int height, void *data) {
    CPLErrorReset();
    if (GDALRasterIO(GDALGetRasterBand(w->dst, band + 1), GF_Write, 0, y, width, height, data, width, height,
                     w->wo->eWorkingDataType, 0, 0) != CE_None) {
        fail("write");
        return 0;
    }
    return 1;
}

int tessera_warp_close(TesseraWarp *w) {
    CPLErrorReset();
    GDALDatasetH dst = w->dst;
    w->dst = nullptr;
    bool ok = true;
    if (w->op) {
        delete w->op;
        w->op = nullptr;
    }
    if (dst) {
        GDALFlushCache(dst);
        ok = CPLGetLastErrorType() < CE_Failure;
        GDALClose(dst);
    }
    if (!ok) fail("close target");
    destroy(w);
    return ok ? 1 : 0;
}
