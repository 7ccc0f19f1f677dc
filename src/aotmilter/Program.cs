using AotMilter.Generated;
using AotMilter.Hosting;

// Every filter compiled into this binary: the generator links the catalogs of all referenced filter assemblies.
// Without -f, the log filter runs alone (the bundled filters need settings to do anything useful).
// The name is given rather than read from the entry assembly by reflection (3 % of the start-up's main thread).
return MilterHost.Run(args, LinkedFilters.All, new MilterHostOptions { Name = "aotmilter", Filters = ["log"] });
