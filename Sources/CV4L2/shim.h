#ifndef MERD_CV4L2_SHIM_H
#define MERD_CV4L2_SHIM_H
// V4L2 through the kernel's own UAPI header (Debian: linux-libc-dev).
#include <linux/videodev2.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <poll.h>
#include <fcntl.h>

// The VIDIOC_* request numbers are function-like macros (_IOWR(...)), which Swift cannot
// import; these constants carry their values across.
static const unsigned long merd_VIDIOC_QUERYCAP = VIDIOC_QUERYCAP;
static const unsigned long merd_VIDIOC_ENUM_FMT = VIDIOC_ENUM_FMT;
static const unsigned long merd_VIDIOC_ENUM_FRAMESIZES = VIDIOC_ENUM_FRAMESIZES;
static const unsigned long merd_VIDIOC_ENUM_FRAMEINTERVALS = VIDIOC_ENUM_FRAMEINTERVALS;
static const unsigned long merd_VIDIOC_G_FMT = VIDIOC_G_FMT;
static const unsigned long merd_VIDIOC_S_FMT = VIDIOC_S_FMT;
static const unsigned long merd_VIDIOC_G_PARM = VIDIOC_G_PARM;
static const unsigned long merd_VIDIOC_S_PARM = VIDIOC_S_PARM;
static const unsigned long merd_VIDIOC_REQBUFS = VIDIOC_REQBUFS;
static const unsigned long merd_VIDIOC_QUERYBUF = VIDIOC_QUERYBUF;
static const unsigned long merd_VIDIOC_QBUF = VIDIOC_QBUF;
static const unsigned long merd_VIDIOC_DQBUF = VIDIOC_DQBUF;
static const unsigned long merd_VIDIOC_STREAMON = VIDIOC_STREAMON;
static const unsigned long merd_VIDIOC_STREAMOFF = VIDIOC_STREAMOFF;

// Pixel formats are v4l2_fourcc(...) macros as well.
static const unsigned int merd_V4L2_PIX_FMT_YUYV = V4L2_PIX_FMT_YUYV;
static const unsigned int merd_V4L2_PIX_FMT_MJPEG = V4L2_PIX_FMT_MJPEG;
static const unsigned int merd_V4L2_PIX_FMT_JPEG = V4L2_PIX_FMT_JPEG;
static const unsigned int merd_V4L2_PIX_FMT_RGB24 = V4L2_PIX_FMT_RGB24;
static const unsigned int merd_V4L2_PIX_FMT_BGR24 = V4L2_PIX_FMT_BGR24;
static const unsigned int merd_V4L2_PIX_FMT_GREY = V4L2_PIX_FMT_GREY;
static const unsigned int merd_V4L2_PIX_FMT_YUV420 = V4L2_PIX_FMT_YUV420;
static const unsigned int merd_V4L2_PIX_FMT_NV12 = V4L2_PIX_FMT_NV12;

// Swift cannot call the variadic ioctl(2); this fixed-arity wrapper can.
static inline int merd_ioctl(int fd, unsigned long request, void *arg) {
    return ioctl(fd, request, arg);
}

// v4l2_fourcc is a macro too.
static inline unsigned int merd_v4l2_fourcc(char a, char b, char c, char d) {
    return v4l2_fourcc(a, b, c, d);
}
#endif
