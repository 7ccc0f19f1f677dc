using AotMilter.Generated;
using AotMilter.Hosting;

// The whole aotmilter command line (-p, -f, -c, -D, --print-config, test, bench, ...) for the filters compiled in:
// LinkedFilters lists every [Milter] class of the projects this one references. Without -f, all of them run, in order.
return MilterHost.Run(args, LinkedFilters.All);
