using AotMilter.Generated;
using AotMilter.Hosting;

// Messages say "aotmilter", as the published binary's do: the end-to-end tests read them from either.
return MilterHost.Run(args, LinkedFilters.All, new MilterHostOptions { Name = "aotmilter", Filters = ["log"] });
