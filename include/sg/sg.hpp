// sg/sg.hpp — everything in sg. Every header also compiles on its own; include the ones
// you use to keep compile times down.
#pragma once

#include <sg/error.hpp>
#include <sg/exec/on.hpp>
#include <sg/gathered.hpp>
#include <sg/merge/concat.hpp>
#include <sg/merge/protocol.hpp>
#include <sg/pipeline.hpp>
#include <sg/policy/partial.hpp>
#include <sg/policy/policy.hpp>
#include <sg/shard.hpp>
#include <sg/version.hpp>
