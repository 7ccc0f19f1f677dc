using System.Text;
using AotMilter.Configuration;
using AotMilter.Server;
using AotMilter.Server.Configuration;

namespace AotMilter.Fuzz;

/// <summary>
/// The <c>config</c> target: the text of a configuration file, read as the daemon reads it at start-up and on SIGHUP
/// (file syntax, every bundled filter's settings, the whole-file check), then, when valid, the chain of the filters it
/// configures built with those settings. Problems must come back as <see cref="ConfigError"/> values: anything thrown
/// is a bug, including an exception of a settings parser that the loader turned into an error.
/// </summary>
internal static class ConfigTarget
{
    // Relative "file:" paths resolve against this folder, which does not exist: a fuzzed name reads nothing.
    // (An absolute path is read as the daemon would; the dictionary names none, so that a run reads no device files.)
    private const string ConfigPath = "/nonexistent/aotmilter-fuzz/fuzz.conf";

    private static readonly IReadOnlyList<MilterRegistration> All = Generated.AotMilter_Filters.MilterCatalog.Registrations;

    public static void Run(ReadOnlySpan<byte> input)
    {
        // As File.ReadAllText(path, Encoding.UTF8) decodes the file: invalid bytes become U+FFFD.
        string text = Encoding.UTF8.GetString(input);
        ConfigFile file = ConfigFile.Parse(text, ConfigPath);
        MilterRegistration[] chain = file.Sections.Select(s => Find(s.Name)).OfType<MilterRegistration>().Distinct().ToArray();
        SettingsLoadResult result = FilterSettingsLoader.Load(file, All, chain);
        ConfigError? threw = result.Errors.FirstOrDefault(e => e.Message.StartsWith(FilterSettingsLoader.ParserThrewPrefix, StringComparison.Ordinal));
        if (threw is not null)
        {
            // The loader keeps a settings parser's exception from stopping the daemon, and so loses its stack: let
            // it escape here.
            foreach (ConfigSection section in ConfigFile.Parse(text, ConfigPath).Sections)
            {
                Find(section.Name)?.ParseSettings(section);
            }

            throw new InvalidOperationException("a settings parser threw in the loader, but not a second time: " + threw);
        }

        foreach (ConfigError error in result.Errors)
        {
            // What --check-config prints.
            GC.KeepAlive(error.ToString());
        }

        if (result.IsValid && chain.Length > 0)
        {
            new FilterChain(chain, result.Settings).CreateDispatchers();
        }
    }

    private static MilterRegistration? Find(string name)
        => All.FirstOrDefault(f => string.Equals(f.Name, name, StringComparison.OrdinalIgnoreCase));
}
