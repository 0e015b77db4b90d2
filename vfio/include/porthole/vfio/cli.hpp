#pragma once
// The porthole-vfio command line as a function, so tests run every command
// against fixture trees with a backend of their choice.

#include <functional>
#include <iosfwd>
#include <memory>
#include <string>
#include <vector>

#include "porthole/vfio/system.hpp"

namespace porthole::vfio {

// Makes the backend for a run; `dry_run` is the --dry-run flag.
using BackendFactory = std::function<std::unique_ptr<Backend>(const Roots& roots, bool dry_run)>;

// The real one: RealBackend, or DryRunBackend with --dry-run.
[[nodiscard]] BackendFactory default_backend_factory();

// Exit codes: 0 done, 1 done with failures found (doctor), 2 error or bad usage.
int run_cli(const std::vector<std::string>& args, std::ostream& out, std::ostream& err,
            const BackendFactory& make_backend = default_backend_factory());

}  // namespace porthole::vfio
