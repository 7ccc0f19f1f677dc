using AotMilter.Cli;
using AotMilter.Generated;

// Every filter compiled into this binary: the generator links the catalogs of all referenced filter assemblies.
return CommandLine.Run(args, LinkedFilters.All);
