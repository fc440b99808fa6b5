// libmosquitto: the MQTT client library of the Mosquitto project (Debian libmosquitto-dev).
#include <mosquitto.h>
