using System.Collections.Immutable;
using Microsoft.CodeAnalysis.Diagnostics;

namespace AotMilter.Generators.Analyzers;

/// <summary>
/// What every analyzer of filter code sets up the same way: the diagnostics it reports (given to the constructor),
/// generated code not analysed (the dispatchers are ours), actions run concurrently, and the Abstractions types
/// looked up once per compilation and handed to <see cref="Register"/>, which registers the analyzer's actions
/// only in a compilation that uses AotMilter.
/// </summary>
public abstract class FilterCodeAnalyzer : DiagnosticAnalyzer
{
    private protected FilterCodeAnalyzer(params DiagnosticDescriptor[] supported) => SupportedDiagnostics = [.. supported];

    public sealed override ImmutableArray<DiagnosticDescriptor> SupportedDiagnostics { get; }

    public sealed override void Initialize(AnalysisContext context)
    {
        context.ConfigureGeneratedCodeAnalysis(GeneratedCodeAnalysisFlags.None);
        context.EnableConcurrentExecution();
        context.RegisterCompilationStartAction(start =>
        {
            // A compilation that does not reference AotMilter.Abstractions has no filter code to analyse.
            var known = new KnownTypes(start.Compilation);
            if (known.Verdict is not null)
            {
                Register(start, known);
            }
        });
    }

    /// <summary>Registers the actions for one compilation that uses AotMilter.</summary>
    private protected abstract void Register(CompilationStartAnalysisContext start, KnownTypes known);
}
