// sg/version.hpp — the version of sg these headers are (kept equal to CMake's
// project(VERSION) by a test).
#pragma once

#define SG_VERSION_MAJOR 0
#define SG_VERSION_MINOR 1
#define SG_VERSION_PATCH 0
#define SG_VERSION (SG_VERSION_MAJOR * 10000 + SG_VERSION_MINOR * 100 + SG_VERSION_PATCH)
