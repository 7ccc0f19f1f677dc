using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.CSharp.Syntax;
using Microsoft.CodeAnalysis.Diagnostics;

namespace AotMilter.Generators.Analyzers;

/// <summary>
/// Verdicts that mean nothing where a deciding callback's own code names them: <c>Verdict.Skip</c> outside the body
/// callback (AOTM020) and <c>Verdict.Discard</c> at connect or HELO (AOTM021). Helpers the callback calls are not
/// followed. The generator reads the body callback's own Skip separately, to negotiate SMFIP_SKIP.
/// </summary>
[DiagnosticAnalyzer(LanguageNames.CSharp)]
public sealed class VerdictUseAnalyzer() : FilterCodeAnalyzer(DiagnosticDescriptors.SkipOutsideBody, DiagnosticDescriptors.DiscardBeforeMessage)
{
    private protected override void Register(CompilationStartAnalysisContext start, KnownTypes known)
        => start.RegisterSyntaxNodeAction(c => AnalyzeIdentifier(c, known), SyntaxKind.IdentifierName);

    private static void AnalyzeIdentifier(SyntaxNodeAnalysisContext context, KnownTypes known)
    {
        var identifier = (IdentifierNameSyntax)context.Node;
        string member = identifier.Identifier.ValueText;
        if (member is not ("Skip" or "Discard")
            || identifier.FirstAncestorOrSelf<MethodDeclarationSyntax>() is not { } declaration
            || context.SemanticModel.GetSymbolInfo(identifier, context.CancellationToken).Symbol is not IPropertySymbol property
            || !SymbolEqualityComparer.Default.Equals(property.ContainingType, known.Verdict)
            || context.SemanticModel.GetDeclaredSymbol(declaration, context.CancellationToken) is not { } method
            || !IsDeciding(method, known)
            || method.ContainingType is not { } type
            || !FilterSymbols.IsFilter(type))
        {
            return;
        }

        Location at = (identifier.Parent is MemberAccessExpressionSyntax access && access.Name == identifier ? access : (SyntaxNode)identifier).GetLocation();
        foreach (MilterEvent kind in KindsBoundTo(method, type, known))
        {
            if (member == "Skip" && kind != MilterEvent.Body)
            {
                context.ReportDiagnostic(Diagnostic.Create(DiagnosticDescriptors.SkipOutsideBody, at, FilterSymbols.AttributeDisplay(kind), method.Name));
            }
            else if (member == "Discard" && kind is MilterEvent.Connect or MilterEvent.Helo)
            {
                context.ReportDiagnostic(Diagnostic.Create(DiagnosticDescriptors.DiscardBeforeMessage, at, FilterSymbols.AttributeDisplay(kind), method.Name));
            }
        }
    }

    /// <summary>Returns Verdict or ValueTask&lt;Verdict&gt;: an observer's verdicts are never sent.</summary>
    private static bool IsDeciding(IMethodSymbol method, KnownTypes known)
        => !method.ReturnsByRef && !method.ReturnsByRefReadonly
            && (SymbolEqualityComparer.Default.Equals(method.ReturnType, known.Verdict) || known.IsValueTaskOfVerdict(method.ReturnType));

    /// <summary>The events the generator binds to the method: those of its callback attributes for which it is the class's first method.</summary>
    private static List<MilterEvent> KindsBoundTo(IMethodSymbol method, INamedTypeSymbol type, KnownTypes known)
    {
        var kinds = new List<MilterEvent>();
        foreach (AttributeData attribute in method.GetAttributes())
        {
            int index = known.CallbackIndex(attribute.AttributeClass);
            if (index >= 0 && SymbolEqualityComparer.Default.Equals(FirstBound(type, index, known), method))
            {
                kinds.Add((MilterEvent)index);
            }
        }

        return kinds;
    }

    private static IMethodSymbol? FirstBound(INamedTypeSymbol type, int index, KnownTypes known)
    {
        foreach (ISymbol member in type.GetMembers())
        {
            if (member is IMethodSymbol method)
            {
                foreach (AttributeData attribute in method.GetAttributes())
                {
                    if (known.CallbackIndex(attribute.AttributeClass) == index)
                    {
                        return method;
                    }
                }
            }
        }

        return null;
    }
}
