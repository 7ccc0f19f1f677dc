using AotMilter.Configuration;
using AotMilter.Server;
using AotMilter.Server.Configuration;
using Microsoft.Extensions.Logging;

namespace AotMilter.Cli;

/// <summary>
/// SIGHUP: re-reads the configuration file and, when it is valid, makes its settings current for new connections
/// (connections in flight keep theirs). A file with errors is logged error by error and the previous settings stay.
/// </summary>
internal sealed class ConfigReloader(DaemonSettings settings, FilterChain chain, ILogger log)
{
    private readonly Lock _gate = new();

    public void Reload()
    {
        if (settings.ConfigPath is not string path)
        {
            CliLog.HangupIgnored(log, "no configuration file to re-read (start with -c FILE)");
            return;
        }

        // Two signals in quick succession read the file one after the other, never interleaved.
        lock (_gate)
        {
            SettingsLoadResult loaded = FilterSettingsLoader.Load(ConfigFile.Load(path), settings.KnownFilters, settings.Filters);
            if (!loaded.IsValid)
            {
                foreach (ConfigError error in loaded.Errors)
                {
                    CliLog.ConfigError(log, error.ToString());
                }

                CliLog.ReloadRejected(log, path, loaded.Errors.Count);
                return;
            }

            chain.UpdateSettings(loaded.Settings);
            CliLog.Reloaded(log, path, loaded.SectionCount, loaded.EntryCount);
        }
    }
}
