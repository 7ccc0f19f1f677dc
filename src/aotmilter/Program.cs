using AotMilter.Generated;
using AotMilter.Hosting;

// Every filter compiled into this binary: the generator links the catalogs of all referenced filter assemblies.
// Without -f, the log filter runs alone (the bundled filters need settings to do anything useful).
return MilterHost.Run(args, LinkedFilters.All, new MilterHostOptions { Filters = ["log"] });
