#!/bin/bash
# Inside the QEMU guest, chrooted into the host's root (read-only; /run in memory):
# loads the drivers, starts the MJPEG feed, runs the guest suites (V4L2, device faults).
set -u
tests=$1
modprobe vivid n_devs=1 node_types=0x1 || { echo "cannot load vivid"; exit 3; }
# A real kernel sound card with no hardware: its capture side gives what its playback side is
# fed while something plays (DeviceFaultGuestTests removes and re-adds it under capture).
modprobe snd-aloop || { echo "cannot load snd-aloop"; exit 3; }
# 8 buffers: the feeder refills them in turn without regard to readers; more of them keep
# it further from the one a reader is decoding.
modprobe v4l2loopback video_nr=20 card_label=merd-loopback exclusive_caps=1 max_buffers=8 || { echo "cannot load v4l2loopback"; exit 3; }
ffmpeg -v error -re -f lavfi -i testsrc=size=640x480:rate=30 -c:v mjpeg -q:v 5 -f v4l2 /dev/video20 &
feeder=$!
# With exclusive_caps the loopback offers capture only once the feeder writes to it. Under
# software emulation ffmpeg's start (its libraries read over 9p) took more than the 2 s this
# once waited, and the MJPEG test then found no capture device: wait for the capability itself.
for _ in $(seq 240); do
    v4l2-ctl -d /dev/video20 --info 2>/dev/null | grep -A1 'Device Caps' | grep -q 'Video Capture' && break
    kill -0 "$feeder" 2>/dev/null || { echo "the MJPEG feeder exited"; break; }
    sleep 0.25
done
mkdir -p /run/tmp
# One suite after the other: both use vivid.
MERD_V4L2_GUEST=1 HOME=/run TMPDIR=/run/tmp "$tests" --testing-library swift-testing --filter V4L2GuestTests
status=$?
MERD_V4L2_GUEST=1 HOME=/run TMPDIR=/run/tmp "$tests" --testing-library swift-testing --filter DeviceFaultGuestTests || status=$?
kill "$feeder" 2>/dev/null
exit $status
