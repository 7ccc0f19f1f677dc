using AotMilter.Configuration;
using AotMilter.Server.Configuration;

namespace AotMilter.Hosting;

/// <summary><c>aotmilter --check-config -c FILE</c>: every error as <c>file:line: field: message</c>, or a one-line summary.</summary>
internal static class ConfigCheck
{
    public static int Run(string path, IReadOnlyList<MilterRegistration> known, IReadOnlyList<MilterRegistration> chain, TextWriter output, TextWriter errors)
    {
        ConfigFile file = ConfigFile.Load(path);
        SettingsLoadResult result = FilterSettingsLoader.Load(file, known, chain);
        if (!result.IsValid)
        {
            foreach (ConfigError error in result.Errors)
            {
                errors.WriteLine(error.ToString());
            }

            errors.WriteLine($"{ProgramName.Value}: {path}: {result.Errors.Count} error{(result.Errors.Count == 1 ? "" : "s")}");
            return 1;
        }

        string sections = string.Join(", ", file.Sections.Select(s => s.Name));
        output.WriteLine($"{path}: OK, {result.SectionCount} section{(result.SectionCount == 1 ? "" : "s")} ({(sections.Length == 0 ? "none" : sections)}), {result.EntryCount} setting{(result.EntryCount == 1 ? "" : "s")}");
        return 0;
    }
}
