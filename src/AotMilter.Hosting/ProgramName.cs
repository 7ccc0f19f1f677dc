using System.Reflection;

namespace AotMilter.Hosting;

/// <summary>The executable's name as its messages print it; set once by <see cref="MilterHost.Run"/>.</summary>
internal static class ProgramName
{
    public static string Value { get; set; } = "aotmilter";

    public static string FromEntryAssembly() => Assembly.GetEntryAssembly()?.GetName().Name ?? "aotmilter";
}
