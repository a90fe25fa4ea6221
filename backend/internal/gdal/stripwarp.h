// stripwarp.h: GDAL's warper driven strip by strip (see stripwarp.go).
#ifndef TESSERA_STRIPWARP_H
#define TESSERA_STRIPWARP_H
#include <gdal.h>
#ifdef __cplusplus
extern "C" {
#endif
typedef struct TesseraWarp TesseraWarp;
TesseraWarp *tessera_warp_open(const char *srcPath, const char *dstPath, const char *srcSRS, const char *dstSRS,
                               int width, int height, const double *bounds, int blockSize, const double *dstNoData,
                               int threads, double memoryBytes);
const char *tessera_warp_error(void);
int tessera_warp_bands(TesseraWarp *w);
GDALDataType tessera_warp_type(TesseraWarp *w);
int tessera_warp_nchunks(TesseraWarp *w);
void tessera_warp_chunk(TesseraWarp *w, int i, int *dx, int *dy, int *dsx, int *dsy);
void *tessera_warp_region(TesseraWarp *w, int dx, int dy, int dsx, int dsy);
void tessera_warp_free_buffer(void *buf);
int tessera_warp_write(TesseraWarp *w, int band, int y, int width, int height, void *data);
int tessera_warp_close(TesseraWarp *w);
#ifdef __cplusplus
}
#endif
#endif
