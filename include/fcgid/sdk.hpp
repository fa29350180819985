// fcgid/sdk.hpp: the C++ SDK for fcgid plugins, all of it but the optional
// parts (fcgid/sdk/json.hpp for nlohmann-json, fcgid/sdk/beast.hpp for
// Boost.Beast). Header-only, C++17, built on fcgid/plugin.h; link
// fcgid::sdk in CMake. README.md, "Writing a plugin", walks through it.
#ifndef FCGID_SDK_HPP
#define FCGID_SDK_HPP

#include "fcgid/sdk/app.hpp"
#include "fcgid/sdk/cookies.hpp"
#include "fcgid/sdk/deferred.hpp"
#include "fcgid/sdk/errors.hpp"
#include "fcgid/sdk/http_error.hpp"
#include "fcgid/sdk/options.hpp"
#include "fcgid/sdk/request.hpp"
#include "fcgid/sdk/response.hpp"
#include "fcgid/sdk/router.hpp"
#include "fcgid/sdk/version.hpp"
#include "fcgid/sdk/worker_pool.hpp"

#endif  // FCGID_SDK_HPP
