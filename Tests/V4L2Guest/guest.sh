#!/bin/bash
# Inside the QEMU guest, chrooted into the host's root (read-only; /run in memory):
# loads the drivers, starts the MJPEG feed, runs the V4L2 suite.
set -u
tests=$1
modprobe vivid n_devs=1 node_types=0x1 || { echo "cannot load vivid"; exit 3; }
# 8 buffers: the feeder refills them in turn without regard to readers; more of them keep
# it further from the one a reader is decoding.
modprobe v4l2loopback video_nr=20 card_label=merd-loopback exclusive_caps=1 max_buffers=8 || { echo "cannot load v4l2loopback"; exit 3; }
ffmpeg -v error -re -f lavfi -i testsrc=size=640x480:rate=30 -c:v mjpeg -q:v 5 -f v4l2 /dev/video20 &
feeder=$!
sleep 2
mkdir -p /run/tmp
MERD_V4L2_GUEST=1 HOME=/run TMPDIR=/run/tmp "$tests" --testing-library swift-testing --filter V4L2GuestTests
status=$?
kill "$feeder" 2>/dev/null
exit $status
