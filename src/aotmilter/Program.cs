using AotMilter.Generated;
using AotMilter.Hosting;

// Every filter compiled into this binary: the generator links the catalogs of all referenced filter assemblies.
return MilterHost.Run(args, LinkedFilters.All);
