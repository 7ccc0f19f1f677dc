using System.Reflection;

namespace AotMilter.Generators.Tests;

/// <summary>Compiled sample assemblies loaded for the duration of a test, with helpers to reach their generated classes.</summary>
internal sealed class Loaded : IDisposable
{
    private readonly InMemoryLoadContext _context;

    private Loaded(InMemoryLoadContext context) => _context = context;

    /// <summary>Compiles the sources as a library (with the generator) and loads it.</summary>
    public static Loaded Library(string assemblyName, params string[] sources)
    {
        byte[] image = TestCompiler.Emit(TestCompiler.CreateCompilation(sources, assemblyName: assemblyName));
        return new Loaded(TestCompiler.Load((assemblyName, image)));
    }

    public static Loaded From(params (string Name, byte[] Image)[] assemblies) => new(TestCompiler.Load(assemblies));

    /// <summary>The registrations of the assembly's generated catalog.</summary>
    public MilterRegistration[] Catalog(string assemblyName)
    {
        Type catalog = _context.Get(assemblyName).GetType($"AotMilter.Generated.{assemblyName.Replace('.', '_')}.MilterCatalog", throwOnError: true)!;
        return (MilterRegistration[])catalog.GetProperty("Registrations", BindingFlags.Public | BindingFlags.Static)!.GetValue(null)!;
    }

    public MilterRegistration Registration(string assemblyName, string filterName)
        => Assert.Single(Catalog(assemblyName), r => r.Name == filterName);

    /// <summary>The executable's generated LinkedFilters.All.</summary>
    public MilterRegistration[] Linked(string assemblyName)
    {
        Type linked = _context.Get(assemblyName).GetType("AotMilter.Generated.LinkedFilters", throwOnError: true)!;
        return (MilterRegistration[])linked.GetProperty("All", BindingFlags.Public | BindingFlags.Static)!.GetValue(null)!;
    }

    public void Dispose() => _context.Dispose();
}
