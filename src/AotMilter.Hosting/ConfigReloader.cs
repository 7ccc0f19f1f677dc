using AotMilter.Configuration;
using AotMilter.Server;
using AotMilter.Server.Configuration;
using Microsoft.Extensions.Logging;

namespace AotMilter.Hosting;

/// <summary>
/// SIGHUP: re-reads the configuration file and, when it is valid, makes its settings current for new connections
/// (connections in flight keep theirs). A file with errors is logged error by error and the previous settings stay.
/// </summary>
/// <remarks>
/// With <c>-u</c> the file is read at start as root but re-read as the unprivileged user: a file only root may read
/// cannot be reloaded. Keeping it readable through a descriptor opened as root would not help (an editor or a
/// configuration manager writes a new file in place of the old one, which that descriptor keeps showing), and keeping
/// root around to read it is what <c>-u</c> avoids. So the daemon says so, at start and on each SIGHUP, with the fix.
/// </remarks>
internal sealed class ConfigReloader(DaemonSettings settings, FilterChain chain, ILogger log)
{
    private readonly Lock _gate = new();

    /// <summary>After <c>-u</c>: warns now, rather than at the first SIGHUP, when the file cannot be re-read.</summary>
    public void WarnIfUnreadable()
    {
        if (settings.ConfigPath is string path && settings.User is string user && !CanRead(path))
        {
            CliLog.ConfigNotReloadable(log, path, user);
        }
    }

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
            if (settings.User is not null && !CanRead(path))
            {
                CliLog.ReloadNotPermitted(log, path, settings.User);
                return;
            }

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

    /// <summary>False only when the file exists but this process may not read it (other failures are reported by the load).</summary>
    private static bool CanRead(string path)
    {
        try
        {
            using Microsoft.Win32.SafeHandles.SafeFileHandle file = File.OpenHandle(path, FileMode.Open, FileAccess.Read);
            return true;
        }
        catch (UnauthorizedAccessException)
        {
            return false;
        }
        catch (IOException)
        {
            return true;
        }
    }
}
